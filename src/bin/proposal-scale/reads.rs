//! `measure`'s reads over gRPC: each kind of read in a phase of its own, every client calling
//! it back to back, after a Health/Check baseline over the same connections.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use proposal_service::domain::ProposalState;
use proposal_service::grpc::code_name;
use proposal_service::pb;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use serde::Serialize;
use tonic::transport::Channel;

use crate::args::MeasureArgs;
use crate::generate::UNITS;
use crate::loadgen::{
    Connection, CpuSample, ErrorCounts, LatencyRecorder, LatencySummary, connect_all,
    health_client, ratio, wait_until_serving,
};
use crate::rng::Rng;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The reads measured, each client taking them in turn.
#[derive(Clone, Copy, Debug)]
pub enum Read {
    Get,
    /// GetProposal in the basic view (the status alone).
    GetBasic,
    History,
    ListCommonState,
    ListRareState,
    ListUnit,
    /// By unit again, in the full view (content and reply included).
    ListUnitFull,
    /// The audit trail: ListEvents' first page (100 events) from a random time of the load.
    Events,
}

impl Read {
    pub const ALL: [Read; 8] = [
        Read::Get,
        Read::GetBasic,
        Read::History,
        Read::ListCommonState,
        Read::ListRareState,
        Read::ListUnit,
        Read::ListUnitFull,
        Read::Events,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Read::Get => "GetProposal",
            Read::GetBasic => "GetProposal, view BASIC",
            Read::History => "GetProposalHistory",
            Read::ListCommonState => "ListProposals state=COPIED",
            Read::ListRareState => "ListProposals rare state",
            Read::ListUnit => "ListProposals unit",
            Read::ListUnitFull => "ListProposals unit, view FULL",
            Read::Events => "ListEvents from a random time",
        }
    }
}

/// What the clients of one read phase measured.
#[derive(Default)]
struct ReadTally {
    latency: LatencyRecorder,
    items: u64,
    errors: ErrorCounts,
}

impl ReadTally {
    fn merge(&mut self, other: ReadTally) {
        self.latency.merge(other.latency);
        self.items += other.items;
        self.errors.merge(other.errors);
    }
}

pub struct ReadPlan {
    pub ids: Vec<String>,
    pub rare_state: ProposalState,
    /// When the first and the last stored event occurred, in Unix nanoseconds.
    pub span: (i64, i64),
}

fn pb_state(state: ProposalState) -> i32 {
    pb::ProposalState::from(state) as i32
}

/// One read; the number of items it returned, or why it failed.
async fn read_once(
    client: &mut ProposalServiceClient<Channel>,
    plan: &ReadPlan,
    kind: Read,
    rng: &mut Rng,
) -> Result<u64, String> {
    let list = |state: Option<ProposalState>, unit: &str| pb::ListProposalsRequest {
        state: state.map_or(0, pb_state),
        handling_unit: unit.to_owned(),
        ..Default::default()
    };
    let status = |s: tonic::Status| code_name(s.code());
    match kind {
        Read::Get | Read::GetBasic => {
            let id = rng.pick(&plan.ids).clone();
            let view = match kind {
                Read::GetBasic => pb::ProposalView::Basic,
                _ => pb::ProposalView::Unspecified,
            };
            let request = pb::GetProposalRequest {
                proposal_id: id.clone(),
                view: view as i32,
            };
            let response = client.get_proposal(request).await.map_err(status)?;
            match response.into_inner().proposal {
                Some(p) if p.id == id => Ok(1),
                _ => Err("UNEXPECTED_RESPONSE".into()),
            }
        }
        Read::History => {
            let request = pb::GetProposalHistoryRequest {
                proposal_id: rng.pick(&plan.ids).clone(),
                ..Default::default()
            };
            let response = client.get_proposal_history(request).await.map_err(status)?;
            some_items(response.into_inner().events.len())
        }
        Read::ListCommonState | Read::ListRareState | Read::ListUnit | Read::ListUnitFull => {
            let request = match kind {
                Read::ListCommonState => list(Some(ProposalState::Copied), ""),
                Read::ListRareState => list(Some(plan.rare_state), ""),
                Read::ListUnitFull => pb::ListProposalsRequest {
                    view: pb::ProposalView::Full as i32,
                    ..list(None, rng.pick(&UNITS).0)
                },
                _ => list(None, rng.pick(&UNITS).0),
            };
            let proposals = client
                .list_proposals(request)
                .await
                .map_err(status)?
                .into_inner()
                .proposals;
            if proposals.is_empty() && !matches!(kind, Read::ListRareState) {
                return Err("UNEXPECTED_RESPONSE".into());
            }
            Ok(proposals.len() as u64)
        }
        Read::Events => {
            // Any time up to the last event's: the page holds at least that event.
            let (first, last) = plan.span;
            let offset = rng.below(u64::try_from(last - first).unwrap_or(0) + 1);
            let at = first + i64::try_from(offset).unwrap_or(0);
            let request = pb::ListEventsRequest {
                occurred_after: Some(prost_types::Timestamp {
                    seconds: at.div_euclid(1_000_000_000),
                    nanos: at.rem_euclid(1_000_000_000) as i32,
                }),
                ..Default::default()
            };
            let response = client.list_events(request).await.map_err(status)?;
            some_items(response.into_inner().events.len())
        }
    }
}

/// The number of items a read returned, which must not be none.
fn some_items(count: usize) -> Result<u64, String> {
    match count {
        0 => Err("UNEXPECTED_RESPONSE".into()),
        count => Ok(count as u64),
    }
}

/// One read client: `kind` back to back until `until`.
async fn read_client(
    connection: Connection,
    plan: Arc<ReadPlan>,
    kind: Read,
    seed: u64,
    until: Instant,
) -> ReadTally {
    let mut client = connection.proposals;
    let mut rng = Rng::new(seed);
    let mut tally = ReadTally::default();
    while Instant::now() < until {
        let started = Instant::now();
        let result = read_once(&mut client, &plan, kind, &mut rng).await;
        let latency = started.elapsed();
        match result {
            Ok(items) => {
                tally.latency.record(latency);
                tally.items += items;
            }
            Err(error) => tally.errors.add(format!("{} {error}", kind.name())),
        }
    }
    tally
}

/// Runs one read phase: every client calls `kind` until `secs` are over.
async fn read_phase(
    connections: &[Connection],
    plan: &Arc<ReadPlan>,
    kind: Read,
    seed: u64,
    secs: u64,
) -> Result<(ReadTally, f64), String> {
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let seed = seed ^ ((i as u64 + 1) << 40) ^ (kind as u64) << 32;
            tokio::spawn(read_client(c.clone(), Arc::clone(plan), kind, seed, until))
        })
        .collect();
    let mut tally = ReadTally::default();
    for task in tasks {
        tally.merge(task.await.map_err(|e| e.to_string())?);
    }
    Ok((tally, started.elapsed().as_secs_f64()))
}

#[derive(Debug, Serialize)]
pub struct CallReport {
    pub latency_ms: LatencySummary,
    pub calls_per_sec: f64,
    /// Items returned per call on average (proposals, or events for the history).
    pub items_per_call: f64,
    /// CPU of this process (the in-process server and the clients) per call, in microseconds;
    /// null where Linux's `/proc` cannot be read.
    pub cpu_us_per_call: Option<f64>,
    /// The busy share (0 to 1) of the whole machine's CPU time during the phase.
    pub machine_busy: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ReadReport {
    pub clients: u32,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    /// Page size asked for by the listings: 0, i.e. the server's default (50).
    pub page_size: u32,
    pub rare_state: &'static str,
    pub baseline: CallReport,
    pub calls: BTreeMap<&'static str, CallReport>,
    pub errors: ErrorCounts,
}

/// Over connections of their own (one per client), the Health/Check baseline, then each read
/// in turn, warm-up first. `phase` goes to 1 when the reads start and to 2 when they are over,
/// for the memory sampler.
pub async fn measure_reads(
    url: &str,
    args: &MeasureArgs,
    plan: &Arc<ReadPlan>,
    phase: &AtomicU8,
) -> Result<ReadReport, String> {
    let connections = connect_all(url, args.clients, CALL_TIMEOUT, 64 * 1024 * 1024).await?;
    wait_until_serving(&connections[0], CALL_TIMEOUT).await?;
    eprintln!(
        "proposal-scale: Health/Check baseline, {} s, {} clients",
        args.baseline_duration, args.clients
    );
    let until = Instant::now() + Duration::from_secs(args.baseline_duration);
    let started = Instant::now();
    let cpu_before = CpuSample::now();
    let tasks: Vec<_> = connections
        .iter()
        .map(|c| tokio::spawn(health_client(c.clone(), until)))
        .collect();
    let mut baseline = LatencyRecorder::default();
    let mut errors = ErrorCounts::default();
    for task in tasks {
        let (latency, e) = task.await.map_err(|e| e.to_string())?;
        baseline.merge(latency);
        errors.merge(e);
    }
    let baseline_cpu = cpu_before.until(CpuSample::now());
    let baseline_secs = started.elapsed().as_secs_f64();

    phase.store(1, Ordering::Relaxed);
    let mut calls = BTreeMap::new();
    for kind in Read::ALL {
        eprintln!(
            "proposal-scale: {} ({} s warm-up, {} s measured, {} clients)",
            kind.name(),
            args.warmup,
            args.duration,
            args.clients
        );
        if args.warmup > 0 {
            let (warmup, _) = read_phase(&connections, plan, kind, !args.seed, args.warmup).await?;
            errors.merge(warmup.errors);
        }
        let cpu_before = CpuSample::now();
        let (tally, secs) = read_phase(&connections, plan, kind, args.seed, args.duration).await?;
        let cpu = cpu_before.until(CpuSample::now());
        errors.merge(tally.errors);
        let latency_ms = tally.latency.summary();
        calls.insert(
            kind.name(),
            CallReport {
                calls_per_sec: ratio(latency_ms.count as f64, secs),
                items_per_call: ratio(tally.items as f64, latency_ms.count as f64),
                cpu_us_per_call: cpu.us_per_call(latency_ms.count),
                machine_busy: cpu.machine_busy,
                latency_ms,
            },
        );
    }
    phase.store(2, Ordering::Relaxed);
    let baseline_latency = baseline.summary();
    Ok(ReadReport {
        clients: args.clients,
        duration_secs: args.duration,
        warmup_secs: args.warmup,
        page_size: 0,
        rare_state: args.rare_state.as_str(),
        baseline: CallReport {
            calls_per_sec: ratio(baseline_latency.count as f64, baseline_secs),
            items_per_call: 0.0,
            cpu_us_per_call: baseline_cpu.us_per_call(baseline_latency.count),
            machine_busy: baseline_cpu.machine_busy,
            latency_ms: baseline_latency,
        },
        calls,
        errors,
    })
}
