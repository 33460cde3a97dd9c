//! `proposal-bench`: a closed-loop load generator for the proposal service.
//!
//! It answers one question: how much does a durable workflow transition cost compared with the
//! cheapest call the same server answers, over the same connections, in the same run? And how
//! much of that is the least any durable write through sled costs? So it measures three
//! phases, each after an unmeasured warm-up:
//!
//! 1. **baseline**: every client calls `grpc.health.v1.Health/Check` as fast as it can. This is
//!    the cost of the transport, HTTP/2 and tonic alone (no writer, no store).
//! 2. **floor** (in-process runs only): the same calls, over connections of their own, to a
//!    second server in this process whose Health/Check answers only after one sled insert of
//!    `--floor-value-bytes` is durable: a single writer thread takes every insert waiting,
//!    applies each, then flushes sled and `fdatasync`s its data file once for the batch, as the
//!    service's writer makes its commits durable. Its database is a fresh sled directory with
//!    the store's default options. It measures the premise of the targets (one sled insert and
//!    a shared flush per batch): what the service would reach if a transition cost nothing but
//!    the empty RPC and one durable insert.
//! 3. **workflow**: every client drives whole proposal lifecycles, receive → assign → draft →
//!    sign → issue → copy (6 transitions), each with a `request_id` and (after the receive) the
//!    `expected_version` it must find, with the seed document's reply body (about 8.8 KB of
//!    UTF-8, or the size `--reply-bytes` asks for), so each call goes through the single writer
//!    and is answered only after its batch was flushed.
//!
//! Each client runs one call at a time (closed loop) over its own HTTP/2 connection, so N
//! clients are N independent callers and there are at most N calls in flight. Latency is taken
//! around each RPC's await; percentiles come from sorting every recorded sample (nearest rank).
//! A phase stops starting calls when its duration is over; its rate is what completed divided
//! by the time until the last client finished.
//!
//! Without `--server`, the server runs in this process exactly as `proposal-server` runs it: the
//! same [`server::serve`], [`ServeOptions::default`], a [`SledStore`] with default options over a
//! real directory, on its own multi-threaded runtime (so the load generator's tasks do not share
//! worker threads with the server; they still share the machine's CPUs).
//!
//! # JSON output (`--json`)
//!
//! One object on stdout (progress goes to stderr):
//!
//! - `target`: `"in-process"` or `"external"` (`--server`); `url`: the server's URL;
//!   `data_dir`: the in-process server's data directory (null with `--server`)
//! - `concurrency`, `connections`, `duration_secs`, `warmup_secs`, `reply_body_bytes` (the
//!   body actually sent, see `--reply-bytes`)
//! - `baseline`: `calls`, `elapsed_secs`, `calls_per_sec`, `latency_ms`, `errors`
//! - `floor`: the fields of `baseline` (its `cpu` and `cpu_us_per_call` too), plus
//!   `value_bytes` and `records_stored` (records in the floor's tree after the phase, warm-up
//!   included: at least one per successful call); null with `--server` or `--no-floor`
//! - `workflow`: `transitions`, `lifecycles` (completed ones), `elapsed_secs`,
//!   `transitions_per_sec`, `lifecycles_per_sec`, `latency_ms` (`all`, and `per_rpc` keyed by
//!   RPC name, e.g. `ReceiveProposal`), `errors`, `error_total`
//! - a `latency_ms` summary: `count`, `mean`, `p50`, `p95`, `p99`, `max` (milliseconds)
//! - `errors`: failed calls by gRPC code name (e.g. `ABORTED`), plus `UNEXPECTED_RESPONSE` for
//!   an OK answer that is not what the call must return; empty when nothing failed
//! - `warmup_errors`: the same, for the warm-ups of every phase
//! - `baseline.cpu` and `workflow.cpu`: `process_secs`, the CPU seconds this process used
//!   during the phase (every thread: with the in-process server, server and clients; with
//!   `--server`, the clients alone), and `machine_busy`, the busy share (0 to 1) of the whole
//!   machine's CPU time in the phase; `baseline.cpu_us_per_call` and
//!   `workflow.cpu_us_per_transition` divide the first by the calls (each null where Linux's
//!   `/proc` cannot be read)
//! - `throughput_ratio`: `workflow.transitions_per_sec / baseline.calls_per_sec`
//! - `p50_latency_ratio`: `workflow.latency_ms.all.p50 / baseline.latency_ms.p50`
//! - `cpu_ratio`: `workflow.cpu_us_per_transition / baseline.cpu_us_per_call`: how many empty
//!   calls' worth of CPU a transition costs
//! - `floor_throughput_ratio`: `floor.calls_per_sec / baseline.calls_per_sec`;
//!   `floor_p50_latency_ratio`: `floor.latency_ms.p50 / baseline.latency_ms.p50`;
//!   `workflow_to_floor_ratio`: `workflow.transitions_per_sec / floor.calls_per_sec` (each
//!   null with `--server` or `--no-floor`)
//! - `ok`: true when no call failed
//!
//! Exit status: 0 when every call succeeded, 1 when any call failed (in any phase or a
//! warm-up; the report is still printed), 2 when the run could not be set up (no server, bad
//! URL, data directory in use).

#[path = "common/allocator.rs"]
mod allocator;
#[path = "common/loadgen.rs"]
mod loadgen;

use loadgen::{
    Connection, CpuSample, CpuUse, ErrorCounts, LatencyRecorder, LatencySummary, connect_all,
    health_client, ratio, wait_until_serving,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use proposal_service::app::{MAX_BATCH, run_batches};
use proposal_service::grpc::code_name;
use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use proposal_service::server::{self, ServeOptions};
use proposal_service::store::{SledOptions, SledStore};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tonic::Status;
use tonic::transport::Channel;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// No single call may hold a phase open longer than this, whatever the server does.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a connection, and for the server to report SERVING.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Load generator for proposal-server: health-check baseline vs. durable workflow transitions.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// URL of a running server (e.g. http://127.0.0.1:50051). Without it, a server is started
    /// in this process on 127.0.0.1:0, as production runs it.
    #[arg(long)]
    server: Option<String>,
    /// Data directory for the in-process server (kept afterwards). Without it, a fresh directory
    /// under the system temporary directory is used and removed at the end.
    #[arg(long, conflicts_with = "server")]
    data_dir: Option<PathBuf>,
    /// Concurrent clients, each with its own HTTP/2 connection and one call in flight.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: u32,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Unmeasured seconds before each phase.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=3600))]
    warmup: u64,
    /// Bytes of each reply body: the seed document's body (8,818 bytes of UTF-8 when absent)
    /// repeated or cut to at most this many bytes, at a character boundary, so up to 3 bytes
    /// fewer. How much the texts carried weigh in a transition's cost.
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=100_000))]
    reply_bytes: Option<u32>,
    /// Bytes of each value the floor phase inserts (the in-process run only; see the module
    /// documentation).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    floor_value_bytes: u32,
    /// Skip the floor phase (its figures are then null, as with `--server`).
    #[arg(long)]
    no_floor: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Log the in-process server as production does (one line per request, to stderr; RUST_LOG
    /// sets the level). Off by default so the output stays readable.
    #[arg(long, conflicts_with = "server")]
    server_log: bool,
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------------

/// A data directory, removed on drop when this run created it.
struct DataDir {
    path: PathBuf,
    remove: bool,
}

impl DataDir {
    /// A fresh directory under the system temporary directory, its name `prefix` and then the
    /// process id and a UUIDv7, unique across concurrent and successive runs.
    fn temporary(prefix: &str) -> Self {
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        Self {
            path: std::env::temp_dir().join(name),
            remove: true,
        }
    }

    fn given(path: PathBuf) -> Self {
        Self {
            path,
            remove: false,
        }
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.remove
            && self.path.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.path)
        {
            eprintln!("proposal-bench: cannot remove {}: {e}", self.path.display());
        }
    }
}

/// What a server's shutdown signal looks like to the function that serves it.
type Shutdown = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A server running in this process on a multi-threaded runtime of its own (so the load
/// generator's tasks do not share its worker threads), listening on 127.0.0.1:0.
struct Served<E> {
    /// What the server is, for errors ("the server", "the floor's server").
    name: &'static str,
    url: String,
    runtime: tokio::runtime::Runtime,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Display + Send + 'static> Served<E> {
    /// Binds the listener on a new runtime and spawns `serve(listener, shutdown)` there.
    fn start<F, Fut>(name: &'static str, serve: F) -> Result<Self, String>
    where
        F: FnOnce(tokio::net::TcpListener, Shutdown) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    {
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| format!("cannot start a runtime for {name}: {e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("{name}: cannot listen on 127.0.0.1:0: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(serve(
            listener,
            Box::pin(async {
                let _ = stopped.await;
            }),
        ));
        Ok(Self {
            name,
            url: format!("http://{addr}"),
            runtime,
            stop,
            task,
        })
    }

    /// Signals the shutdown, waits for the server to end, and drops its runtime.
    fn stop(self) -> Result<(), String> {
        let Self {
            name,
            runtime,
            stop,
            task,
            ..
        } = self;
        let _ = stop.send(());
        let result = runtime.block_on(task);
        drop(runtime);
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{name} failed: {e}")),
            Err(e) => Err(format!("{name}'s task failed: {e}")),
        }
    }
}

/// The production server, started in this process on its own runtime.
struct InProcessServer {
    served: Served<server::ServeError>,
    // Declared last: dropped after the runtime, hence after the store is closed.
    data_dir: DataDir,
}

impl InProcessServer {
    fn start(data_dir: DataDir) -> Result<Self, String> {
        let store = SledStore::open(&data_dir.path, &SledOptions::default())
            .map_err(|e| format!("cannot open {}: {e}", data_dir.path.display()))?;
        // As `proposal-server` does after opening.
        allocator::release_free_memory();
        let served = Served::start("the server", |listener, shutdown| {
            server::serve(Arc::new(store), listener, ServeOptions::default(), shutdown)
        })?;
        Ok(Self { served, data_dir })
    }

    /// Shuts down gracefully (which drains the writer and flushes), then closes the store and
    /// removes a temporary directory. Clients must have disconnected first, or the shutdown
    /// waits for them until the grace period ends.
    fn stop(self) -> Result<(), String> {
        let Self { served, data_dir } = self;
        let result = served.stop();
        drop(data_dir);
        result
    }

    fn data_dir(&self) -> &Path {
        &self.data_dir.path
    }
}

/// Installs the same log output as `proposal-server` (text, stderr, `RUST_LOG` or `info`).
fn init_server_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

/// Runs `client` on every connection at once until `duration` is over; returns each client's
/// result and the time until the last one finished.
async fn run_clients<T, F, Fut>(
    connections: &[Connection],
    duration: Duration,
    client: F,
) -> (Vec<T>, Duration)
where
    T: Send + 'static,
    F: Fn(Connection, Instant) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let started = Instant::now();
    let until = started + duration;
    let tasks: Vec<JoinHandle<T>> = connections
        .iter()
        .map(|connection| tokio::spawn(client(connection.clone(), until)))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("a client task panicked"));
    }
    (results, started.elapsed())
}

// ---------------------------------------------------------------------------------------------
// Phase 1: baseline
// ---------------------------------------------------------------------------------------------

/// What a phase of Health/Check calls measured (the baseline, and the floor against its own
/// server).
#[derive(Debug, Serialize)]
struct CheckReport {
    /// Successful Health/Check calls.
    calls: u64,
    elapsed_secs: f64,
    calls_per_sec: f64,
    latency_ms: LatencySummary,
    errors: ErrorCounts,
    cpu: CpuUse,
    /// `cpu.process_secs` per call, in microseconds.
    cpu_us_per_call: Option<f64>,
}

/// Every client calls Health/Check on its connection back to back for `duration`.
async fn checks(connections: &[Connection], duration: Duration) -> CheckReport {
    let cpu_before = CpuSample::now();
    let (results, elapsed) = run_clients(connections, duration, health_client).await;
    let cpu = cpu_before.until(CpuSample::now());
    let mut latencies = LatencyRecorder::default();
    let mut errors = ErrorCounts::default();
    for (client_latencies, client_errors) in results {
        latencies.merge(client_latencies);
        errors.merge(client_errors);
    }
    CheckReport {
        calls: latencies.count(),
        elapsed_secs: elapsed.as_secs_f64(),
        calls_per_sec: latencies.count() as f64 / elapsed.as_secs_f64(),
        latency_ms: latencies.summary(),
        errors,
        cpu_us_per_call: cpu.us_per_call(latencies.count()),
        cpu,
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the storage floor
// ---------------------------------------------------------------------------------------------

/// An insert waiting for the floor's writer: told once its batch is durable.
type FloorPending = oneshot::Sender<Result<(), String>>;

/// `grpc.health.v1.Health/Check` answered only once one sled insert is durable: the request
/// and response of the empty RPC, plus the least a durable write through sled can cost. The
/// inserts go through one writer thread that takes every insert waiting, applies each, then
/// makes the batch durable once, exactly as the service's writer makes its commits durable
/// (sled's flush, then `fdatasync` of sled's data file).
struct FloorHealth {
    writer: mpsc::Sender<FloorPending>,
}

#[tonic::async_trait]
impl Health for FloorHealth {
    async fn check(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, Status> {
        let stopped = || Status::unavailable("the floor's writer stopped");
        let (done, durable) = oneshot::channel();
        self.writer.send(done).await.map_err(|_| stopped())?;
        durable
            .await
            .map_err(|_| stopped())?
            .map_err(Status::internal)?;
        Ok(tonic::Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("the floor answers Check only"))
    }
}

/// The floor's single writer: key `n` for the `n`-th insert, each value `value`, batched as
/// the service's writer batches ([`run_batches`]).
fn floor_writer(
    db: sled::Db,
    tree: sled::Tree,
    db_file: std::fs::File,
    value: Vec<u8>,
    mut waiting: mpsc::Receiver<FloorPending>,
) {
    let mut inserted: u64 = 0;
    run_batches(&mut waiting, MAX_BATCH, |batch| {
        let mut commit = || -> Result<(), String> {
            for _ in &batch {
                inserted += 1;
                tree.insert(inserted.to_be_bytes(), value.as_slice())
                    .map_err(|e| format!("sled insert: {e}"))?;
            }
            db.flush().map_err(|e| format!("sled flush: {e}"))?;
            db_file
                .sync_data()
                .map_err(|e| format!("fdatasync of sled's data file: {e}"))
        };
        let outcome = commit();
        for done in batch {
            let _ = done.send(outcome.clone());
        }
    });
}

/// The floor's server, in this process on its own runtime like the service's, over its own
/// sled database (default options, as the service's store opens it) in a temporary directory.
struct FloorServer {
    served: Served<tonic::transport::Error>,
    /// The floor's tree, to count what was stored.
    tree: sled::Tree,
    writer: std::thread::JoinHandle<()>,
    // Declared last: removed after the database is closed.
    data_dir: DataDir,
}

impl FloorServer {
    fn start(value_bytes: usize) -> Result<Self, String> {
        let data_dir = DataDir::temporary("proposal-bench-floor");
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            format!("floor: cannot {what} in {}: {e}", data_dir.path.display())
        };
        let db = sled::Config::new()
            .path(&data_dir.path)
            .cache_capacity(SledOptions::default().cache_capacity)
            .open()
            .map_err(|e| failed("open sled", &e))?;
        let tree = db
            .open_tree("floor")
            .map_err(|e| failed("open a tree", &e))?;
        let db_file = std::fs::File::open(data_dir.path.join("db"))
            .map_err(|e| failed("open sled's data file", &e))?;
        let (sender, waiting) = mpsc::channel(MAX_BATCH * 8);
        let writer = {
            let tree = tree.clone();
            let value = vec![b'x'; value_bytes];
            std::thread::Builder::new()
                .name("floor-writer".into())
                .spawn(move || floor_writer(db, tree, db_file, value, waiting))
                .map_err(|e| failed("start the writer", &e))?
        };
        let served = Served::start("the floor's server", |listener, shutdown| {
            // As `server::serve` accepts connections.
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            tonic::transport::Server::builder()
                .add_service(HealthServer::new(FloorHealth { writer: sender }))
                .serve_with_incoming_shutdown(incoming, shutdown)
        })?;
        Ok(Self {
            served,
            tree,
            writer,
            data_dir,
        })
    }

    /// Stops the server (clients must have disconnected), then the writer, whose queue closes
    /// with the server's service; removes the directory.
    fn stop(self) -> Result<(), String> {
        let Self {
            served,
            tree,
            writer,
            data_dir,
        } = self;
        let served = served.stop();
        let joined = writer
            .join()
            .map_err(|_| "the floor's writer panicked".to_owned());
        drop(tree);
        drop(data_dir);
        served.and(joined)
    }
}

/// What the floor phase measured.
#[derive(Debug, Serialize)]
struct FloorReport {
    /// Bytes of each value inserted.
    value_bytes: usize,
    /// Records in the floor's tree after the phase: at least one per successful call.
    records_stored: usize,
    #[serde(flatten)]
    calls: CheckReport,
}

// ---------------------------------------------------------------------------------------------
// Phase 3: workflow
// ---------------------------------------------------------------------------------------------

/// The six forward transitions of a lifecycle, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Receive,
    Assign,
    Draft,
    Sign,
    Issue,
    Copy,
}

impl Step {
    const ALL: [Step; 6] = [
        Step::Receive,
        Step::Assign,
        Step::Draft,
        Step::Sign,
        Step::Issue,
        Step::Copy,
    ];

    fn rpc(self) -> &'static str {
        match self {
            Step::Receive => "ReceiveProposal",
            Step::Assign => "AssignProposal",
            Step::Draft => "DraftReply",
            Step::Sign => "SignReply",
            Step::Issue => "IssueReply",
            Step::Copy => "CopyReply",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `seed`'s characters, from its start and over again, as many as fit in `bytes`.
fn body_of(seed: &str, bytes: usize) -> String {
    let mut body = String::with_capacity(bytes);
    for c in seed.chars().cycle() {
        if body.len() + c.len_utf8() > bytes {
            break;
        }
        body.push(c);
    }
    body
}

/// What every lifecycle of this run shares. The run tag makes the committee, the document
/// numbers and the request ids unique to this run, so runs against the same server (or data
/// directory) never collide; the proposal number is unique within the run.
struct Plan {
    run: String,
    committee: String,
    body: String,
    next_number: AtomicU32,
}

impl Plan {
    fn new(reply_bytes: Option<u32>) -> Self {
        let run = uuid::Uuid::now_v7().simple().to_string();
        let seed = proposal_service::seed::proposal_228().body;
        Self {
            committee: format!("压测政协{run}"),
            run,
            body: match reply_bytes {
                Some(bytes) => body_of(&seed, bytes as usize),
                None => seed,
            },
            next_number: AtomicU32::new(1),
        }
    }

    fn request_id(&self, number: u32, step: Step) -> String {
        format!("{}-{number}-{}", self.run, step.rpc())
    }

    /// The request of `step` for proposal `number`, currently at `version`.
    fn request(&self, step: Step, number: u32, id: &str, version: u64) -> StepRequest {
        let request_id = self.request_id(number, step);
        let proposal_id = id.to_owned();
        let expected_version = Some(version);
        match step {
            Step::Receive => StepRequest::Receive(pb::ReceiveProposalRequest {
                committee: self.committee.clone(),
                session: "七届三次会议".into(),
                number,
                title: "关于加强我市环境保护的提案".into(),
                proposers: vec!["苏会兴".into()],
                content: "建议加强我市环境保护工作：强化大气、水、土壤污染防治，完善长效机制，加强社会共治。".into(),
                request_id,
                actor: "提案委登记员".into(),
            }),
            Step::Assign => StepRequest::Assign(pb::AssignProposalRequest {
                proposal_id,
                handling_unit: "许昌市生态环境局".into(),
                due_date: "2019-12-31".into(),
                expected_version,
                request_id,
                actor: "提案委登记员".into(),
            }),
            Step::Draft => StepRequest::Draft(pb::DraftReplyRequest {
                proposal_id,
                reply: Some(pb::Reply {
                    body: self.body.clone(),
                    result_code: pb::ResultCode::A as i32,
                    contact_unit: "许昌市生态环境局综合科".into(),
                    contact_phone: "6069516".into(),
                }),
                expected_version,
                request_id,
                actor: "承办单位经办人".into(),
            }),
            Step::Sign => StepRequest::Sign(pb::SignReplyRequest {
                proposal_id,
                signer: "李光亚".into(),
                expected_version,
                request_id,
                actor: "承办单位领导".into(),
            }),
            Step::Issue => StepRequest::Issue(pb::IssueReplyRequest {
                proposal_id,
                document_number: format!("许环〔{}〕{number}号", self.run),
                issue_date: "2019-09-29".into(),
                issuing_office: "许昌市生态环境局办公室".into(),
                expected_version,
                request_id,
                actor: "承办单位办公室".into(),
            }),
            Step::Copy => StepRequest::Copy(pb::CopyReplyRequest {
                proposal_id,
                recipients: vec!["市政协提案委".into(), "市政府督查室".into()],
                expected_version,
                request_id,
                actor: "承办单位办公室".into(),
            }),
        }
    }
}

/// A built request, so that building it (cloning a few KB) stays outside the timed call.
enum StepRequest {
    Receive(pb::ReceiveProposalRequest),
    Assign(pb::AssignProposalRequest),
    Draft(pb::DraftReplyRequest),
    Sign(pb::SignReplyRequest),
    Issue(pb::IssueReplyRequest),
    Copy(pb::CopyReplyRequest),
}

impl StepRequest {
    /// Sends the request; the proposal as the server left it, if the response carried one.
    async fn send(
        self,
        client: &mut ProposalServiceClient<Channel>,
    ) -> Result<Option<pb::Proposal>, Status> {
        Ok(match self {
            Self::Receive(r) => client.receive_proposal(r).await?.into_inner().proposal,
            Self::Assign(r) => client.assign_proposal(r).await?.into_inner().proposal,
            Self::Draft(r) => client.draft_reply(r).await?.into_inner().proposal,
            Self::Sign(r) => client.sign_reply(r).await?.into_inner().proposal,
            Self::Issue(r) => client.issue_reply(r).await?.into_inner().proposal,
            Self::Copy(r) => client.copy_reply(r).await?.into_inner().proposal,
        })
    }
}

/// What one workflow client (or all of them, merged) measured.
#[derive(Default)]
struct WorkflowTally {
    per_step: [LatencyRecorder; 6],
    lifecycles: u64,
    errors: ErrorCounts,
}

impl WorkflowTally {
    fn merge(&mut self, other: WorkflowTally) {
        for (mine, theirs) in self.per_step.iter_mut().zip(other.per_step) {
            mine.merge(theirs);
        }
        self.lifecycles += other.lifecycles;
        self.errors.merge(other.errors);
    }

    fn all(&self) -> LatencyRecorder {
        let mut all = LatencyRecorder::default();
        for step in &self.per_step {
            all.merge(step.clone());
        }
        all
    }
}

/// One workflow client: whole lifecycles back to back until `until`. A lifecycle cut short by
/// the end of the phase counts its transitions but not as a lifecycle; one that fails is
/// abandoned and the next one starts.
async fn workflow_client(connection: Connection, plan: Arc<Plan>, until: Instant) -> WorkflowTally {
    let mut client = connection.proposals;
    let mut tally = WorkflowTally::default();
    while Instant::now() < until {
        let number = plan.next_number.fetch_add(1, Ordering::Relaxed);
        if drive_lifecycle(&mut client, &plan, number, until, &mut tally).await {
            tally.lifecycles += 1;
        }
    }
    tally
}

/// Drives proposal `number` through the six transitions; true if it reached COPIED.
async fn drive_lifecycle(
    client: &mut ProposalServiceClient<Channel>,
    plan: &Plan,
    number: u32,
    until: Instant,
    tally: &mut WorkflowTally,
) -> bool {
    let mut id = String::new();
    let mut version = 0;
    for step in Step::ALL {
        if Instant::now() >= until {
            return false;
        }
        let request = plan.request(step, number, &id, version);
        let started = Instant::now();
        let result = request.send(client).await;
        let latency = started.elapsed();
        match result {
            Ok(Some(proposal)) if proposal.version == version + 1 => {
                tally.per_step[step.index()].record(latency);
                id = proposal.id;
                version = proposal.version;
            }
            Ok(_) => {
                tally.errors.add("UNEXPECTED_RESPONSE");
                return false;
            }
            Err(status) => {
                tally.errors.add(code_name(status.code()));
                return false;
            }
        }
    }
    true
}

/// What the workflow phase measured.
#[derive(Debug, Serialize)]
struct WorkflowReport {
    /// Successful transitions (calls), all six kinds together.
    transitions: u64,
    /// Lifecycles completed (all six transitions succeeded) within the phase.
    lifecycles: u64,
    elapsed_secs: f64,
    transitions_per_sec: f64,
    lifecycles_per_sec: f64,
    latency_ms: WorkflowLatency,
    errors: ErrorCounts,
    error_total: u64,
    cpu: CpuUse,
    /// `cpu.process_secs` per successful transition, in microseconds.
    cpu_us_per_transition: Option<f64>,
}

#[derive(Debug, Serialize)]
struct WorkflowLatency {
    all: LatencySummary,
    per_rpc: BTreeMap<&'static str, LatencySummary>,
}

async fn workflow(
    connections: &[Connection],
    plan: &Arc<Plan>,
    duration: Duration,
) -> WorkflowReport {
    let cpu_before = CpuSample::now();
    let (results, elapsed) = run_clients(connections, duration, |connection, until| {
        workflow_client(connection, Arc::clone(plan), until)
    })
    .await;
    let cpu = cpu_before.until(CpuSample::now());
    let mut tally = WorkflowTally::default();
    for client_tally in results {
        tally.merge(client_tally);
    }
    let all = tally.all();
    let secs = elapsed.as_secs_f64();
    WorkflowReport {
        transitions: all.count(),
        lifecycles: tally.lifecycles,
        elapsed_secs: secs,
        transitions_per_sec: all.count() as f64 / secs,
        lifecycles_per_sec: tally.lifecycles as f64 / secs,
        latency_ms: WorkflowLatency {
            all: all.summary(),
            per_rpc: Step::ALL
                .iter()
                .map(|step| (step.rpc(), tally.per_step[step.index()].summary()))
                .collect(),
        },
        error_total: tally.errors.total(),
        errors: tally.errors,
        cpu_us_per_transition: cpu.us_per_call(all.count()),
        cpu,
    }
}

// ---------------------------------------------------------------------------------------------
// The run and its report
// ---------------------------------------------------------------------------------------------

/// Everything one run measured; `--json` prints it as one object (fields in the module doc).
#[derive(Debug, Serialize)]
struct Report {
    target: &'static str,
    url: String,
    data_dir: Option<PathBuf>,
    concurrency: u32,
    /// HTTP/2 connections opened: one per client.
    connections: usize,
    duration_secs: u64,
    warmup_secs: u64,
    reply_body_bytes: usize,
    baseline: CheckReport,
    /// Null when measuring an external server (`--server`).
    floor: Option<FloorReport>,
    workflow: WorkflowReport,
    warmup_errors: ErrorCounts,
    throughput_ratio: f64,
    p50_latency_ratio: f64,
    /// `floor.calls_per_sec / baseline.calls_per_sec`: the throughput ratio that a durable
    /// sled insert alone reaches.
    floor_throughput_ratio: Option<f64>,
    /// `floor.latency_ms.p50 / baseline.latency_ms.p50`.
    floor_p50_latency_ratio: Option<f64>,
    /// `workflow.transitions_per_sec / floor.calls_per_sec`.
    workflow_to_floor_ratio: Option<f64>,
    /// `workflow.cpu_us_per_transition / baseline.cpu_us_per_call`.
    cpu_ratio: Option<f64>,
    ok: bool,
}

/// Connects, then runs each phase's warm-up and measurement, in order: the baseline and the
/// workflow over the same connections, the floor (when given) over connections of its own to
/// its own server. The connections are closed when this returns.
async fn measure(
    url: String,
    data_dir: Option<PathBuf>,
    floor: Option<&FloorServer>,
    args: &Args,
) -> Result<Report, String> {
    let connections = connect_all(
        &url,
        args.concurrency,
        CONNECT_TIMEOUT.max(CALL_TIMEOUT),
        server::MAX_MESSAGE_BYTES,
    )
    .await?;
    wait_until_serving(&connections[0], CONNECT_TIMEOUT).await?;
    let warmup = Duration::from_secs(args.warmup);
    let duration = Duration::from_secs(args.duration);
    let mut warmup_errors = ErrorCounts::default();

    progress(args, "baseline: Health/Check");
    if !warmup.is_zero() {
        warmup_errors.merge(checks(&connections, warmup).await.errors);
    }
    let baseline = checks(&connections, duration).await;

    let floor = match floor {
        Some(target) => {
            progress(args, "floor: Health/Check after a durable sled insert");
            let floor_connections = connect_all(
                &target.served.url,
                args.concurrency,
                CONNECT_TIMEOUT.max(CALL_TIMEOUT),
                server::MAX_MESSAGE_BYTES,
            )
            .await?;
            if !warmup.is_zero() {
                warmup_errors.merge(checks(&floor_connections, warmup).await.errors);
            }
            let calls = checks(&floor_connections, duration).await;
            Some(FloorReport {
                value_bytes: args.floor_value_bytes as usize,
                records_stored: target.tree.len(),
                calls,
            })
        }
        None => None,
    };

    progress(args, "workflow: six transitions per proposal");
    let plan = Arc::new(Plan::new(args.reply_bytes));
    if !warmup.is_zero() {
        warmup_errors.merge(workflow(&connections, &plan, warmup).await.errors);
    }
    let workflow = workflow(&connections, &plan, duration).await;

    let ok = baseline.errors.total() == 0
        && floor.as_ref().is_none_or(|f| f.calls.errors.total() == 0)
        && workflow.error_total == 0
        && warmup_errors.total() == 0;
    let floor_rate = floor.as_ref().map(|f| f.calls.calls_per_sec);
    Ok(Report {
        target: if data_dir.is_some() {
            "in-process"
        } else {
            "external"
        },
        url,
        data_dir,
        concurrency: args.concurrency,
        connections: connections.len(),
        duration_secs: args.duration,
        warmup_secs: args.warmup,
        reply_body_bytes: plan.body.len(),
        throughput_ratio: ratio(workflow.transitions_per_sec, baseline.calls_per_sec),
        p50_latency_ratio: ratio(workflow.latency_ms.all.p50, baseline.latency_ms.p50),
        cpu_ratio: baseline
            .cpu_us_per_call
            .zip(workflow.cpu_us_per_transition)
            .map(|(call, transition)| ratio(transition, call)),
        floor_throughput_ratio: floor_rate.map(|rate| ratio(rate, baseline.calls_per_sec)),
        floor_p50_latency_ratio: floor
            .as_ref()
            .map(|f| ratio(f.calls.latency_ms.p50, baseline.latency_ms.p50)),
        workflow_to_floor_ratio: floor_rate.map(|rate| ratio(workflow.transitions_per_sec, rate)),
        baseline,
        floor,
        workflow,
        warmup_errors,
        ok,
    })
}

/// A progress line on stderr (stdout is kept for the report).
fn progress(args: &Args, phase: &str) {
    eprintln!(
        "proposal-bench: {phase} ({} s warm-up, {} s measured, {} clients)",
        args.warmup, args.duration, args.concurrency
    );
}

fn latency_row(label: &str, calls: u64, rate: f64, l: &LatencySummary) -> String {
    format!(
        "{label:<18} {calls:>9} {rate:>10.1} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
        l.mean, l.p50, l.p95, l.p99, l.max
    )
}

fn errors_line(errors: &ErrorCounts) -> String {
    if errors.total() == 0 {
        return "none".into();
    }
    let parts: Vec<String> = errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
    parts.join(", ")
}

/// The human-readable report.
fn render_table(report: &Report) -> String {
    let b = &report.baseline;
    let w = &report.workflow;
    let mut out = vec![
        format!(
            "server {} {}{}, {} clients ({} HTTP/2 connections, one call in flight each), \
             {} s warm-up + {} s per phase, reply body {} bytes",
            report.target,
            report.url,
            report
                .data_dir
                .as_ref()
                .map(|d| format!(" (data {})", d.display()))
                .unwrap_or_default(),
            report.concurrency,
            report.connections,
            report.warmup_secs,
            report.duration_secs,
            report.reply_body_bytes
        ),
        String::new(),
        format!(
            "{:<18} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "calls", "count", "per sec", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"
        ),
        latency_row("Health/Check", b.calls, b.calls_per_sec, &b.latency_ms),
    ];
    if let Some(f) = &report.floor {
        let c = &f.calls;
        out.push(latency_row(
            "floor",
            c.calls,
            c.calls_per_sec,
            &c.latency_ms,
        ));
    }
    for step in Step::ALL {
        let l = &w.latency_ms.per_rpc[step.rpc()];
        out.push(latency_row(
            step.rpc(),
            l.count,
            l.count as f64 / w.elapsed_secs,
            l,
        ));
    }
    out.push(latency_row(
        "all transitions",
        w.transitions,
        w.transitions_per_sec,
        &w.latency_ms.all,
    ));
    out.extend([
        String::new(),
        format!(
            "lifecycles completed: {} ({:.1}/s)",
            w.lifecycles, w.lifecycles_per_sec
        ),
        format!("errors: baseline {}", errors_line(&b.errors)),
        format!(
            "errors: floor {}",
            report
                .floor
                .as_ref()
                .map_or_else(|| "(not run)".into(), |f| errors_line(&f.calls.errors))
        ),
        format!("errors: workflow {}", errors_line(&w.errors)),
        format!("errors: warm-up {}", errors_line(&report.warmup_errors)),
        format!(
            "transitions/s ÷ baseline calls/s = {:.3}",
            report.throughput_ratio
        ),
        format!(
            "p50 transition ÷ p50 baseline    = {:.2}",
            report.p50_latency_ratio
        ),
    ]);
    if let (Some(f), Some(throughput), Some(p50), Some(reached)) = (
        &report.floor,
        report.floor_throughput_ratio,
        report.floor_p50_latency_ratio,
        report.workflow_to_floor_ratio,
    ) {
        out.extend([
            format!(
                "floor (Health/Check after one durable sled insert of {} bytes, own server, \
                 {} records stored):",
                f.value_bytes, f.records_stored
            ),
            format!("  floor calls/s ÷ baseline calls/s = {throughput:.3}"),
            format!("  p50 floor ÷ p50 baseline         = {p50:.2}"),
            format!("  transitions/s ÷ floor calls/s    = {reached:.3}"),
            format!(
                "  CPU of this process: {} per floor call; machine busy {}",
                micros(f.calls.cpu_us_per_call),
                percent(f.calls.cpu.machine_busy)
            ),
        ]);
    }
    let whose = if report.data_dir.is_some() {
        "server and clients"
    } else {
        "clients only"
    };
    out.push(format!(
        "CPU of this process ({whose}): {} per Health/Check, {} per transition ({}); \
         machine busy {} / {}",
        micros(b.cpu_us_per_call),
        micros(w.cpu_us_per_transition),
        report
            .cpu_ratio
            .map_or_else(|| "ratio unknown".into(), |r| format!("{r:.2}×")),
        percent(b.cpu.machine_busy),
        percent(w.cpu.machine_busy),
    ));
    out.join("\n")
}

fn micros(value: Option<f64>) -> String {
    value.map_or_else(|| "unknown".into(), |us| format!("{us:.0} µs"))
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(
        || "unknown".into(),
        |share| format!("{:.0} %", share * 100.0),
    )
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("the report serializes")
        );
    } else {
        println!("{}", render_table(report));
    }
}

/// Starts the in-process server if needed, measures on a separate client runtime, and stops
/// the server once every client connection is closed.
fn run(args: &Args) -> Result<Report, String> {
    let server = match &args.server {
        Some(_) => None,
        None => {
            let data_dir = match &args.data_dir {
                Some(path) => DataDir::given(path.clone()),
                None => DataDir::temporary("proposal-bench"),
            };
            Some(InProcessServer::start(data_dir)?)
        }
    };
    let (url, data_dir) = match (&args.server, &server) {
        (_, Some(s)) => (s.served.url.clone(), Some(s.data_dir().to_path_buf())),
        (Some(url), None) => (url.clone(), None),
        (None, None) => unreachable!("a server was started above"),
    };
    // The floor runs beside an in-process server only: it must be on the same machine.
    let floor = match &server {
        Some(_) if !args.no_floor => Some(FloorServer::start(args.floor_value_bytes as usize)?),
        _ => None,
    };
    let clients = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the client runtime: {e}"))?;
    let report = clients.block_on(measure(url, data_dir, floor.as_ref(), args));
    // Dropping the runtime closes every connection, so the servers' graceful shutdowns need
    // not wait for them.
    drop(clients);
    if let Some(server) = server {
        server.stop()?;
    }
    if let Some(floor) = floor {
        floor.stop()?;
    }
    report
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.server_log {
        init_server_logging();
    }
    match run(&args) {
        Ok(report) => {
            print_report(&report, args.json);
            if report.ok {
                ExitCode::SUCCESS
            } else {
                eprintln!("proposal-bench: some calls failed (see errors)");
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("proposal-bench: {e}");
            ExitCode::from(2)
        }
    }
}
