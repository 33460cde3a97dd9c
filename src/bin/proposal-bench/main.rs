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
//!
//! Code map: `args.rs` the command line; `baseline.rs`, `floor.rs` and `workflow.rs` one phase
//! each, run in order by `measure.rs` through the closed loop of `clients.rs`; `report.rs` the
//! report, its table and its JSON; `served.rs` runs a server on a runtime of its own, the
//! production server (`in_process.rs`) or the floor's; `data_dir.rs` is where each keeps its
//! data. `../common/` holds what `proposal-scale` shares.
//!
//! [`server::serve`]: proposal_service::server::serve
//! [`ServeOptions::default`]: proposal_service::server::ServeOptions::default
//! [`SledStore`]: proposal_service::store::SledStore

#[path = "../common/allocator.rs"]
mod allocator;
mod args;
mod baseline;
mod clients;
mod data_dir;
mod floor;
mod in_process;
#[path = "../common/loadgen.rs"]
mod loadgen;
mod measure;
#[path = "../common/output.rs"]
mod output;
mod report;
mod served;
mod workflow;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Args;
use crate::data_dir::DataDir;
use crate::floor::FloorServer;
use crate::in_process::{InProcessServer, init_server_logging};
use crate::measure::measure;
use crate::report::{Report, print_report};

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
