//! The run: connects, then runs each phase's warm-up and measurement in order, and gathers
//! what they measured into the report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proposal_service::server;

use crate::args::Args;
use crate::baseline::checks;
use crate::floor::{FloorReport, FloorServer};
use crate::loadgen::{ErrorCounts, connect_all, ratio, wait_until_serving};
use crate::report::Report;
use crate::workflow::{Plan, workflow};

/// No single call may hold a phase open longer than this, whatever the server does.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a connection, and for the server to report SERVING.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects, then runs each phase's warm-up and measurement, in order: the baseline and the
/// workflow over the same connections, the floor (when given) over connections of its own to
/// its own server. The connections are closed when this returns.
pub async fn measure(
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
