//! What the load tools (`proposal-bench`, `proposal-scale`) share: exact latency recording,
//! error counts by gRPC code, one connection per simulated client, and the empty-RPC baseline
//! client. Included by each binary with `#[path]`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proposal_service::grpc::code_name;
use proposal_service::pb::proposal_service_client::ProposalServiceClient;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The service whose health the baseline asks about (and readiness waits for).
pub const SERVICE_NAME: &str = "proposal.v1.ProposalService";

/// Every latency of one kind of call, kept whole so percentiles are exact (a run records at
/// most a few hundred thousand samples: a few MB).
#[derive(Clone, Debug, Default)]
pub struct LatencyRecorder {
    nanos: Vec<u64>,
}

impl LatencyRecorder {
    pub fn record(&mut self, latency: Duration) {
        self.nanos
            .push(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
    }

    pub fn merge(&mut self, other: LatencyRecorder) {
        self.nanos.extend(other.nanos);
    }

    pub fn count(&self) -> u64 {
        self.nanos.len() as u64
    }

    /// Sorts the samples and reads the percentiles by nearest rank.
    pub fn summary(&self) -> LatencySummary {
        let mut sorted = self.nanos.clone();
        sorted.sort_unstable();
        let ms = |nanos: u64| nanos as f64 / 1e6;
        let at = |percent: f64| match sorted.len() {
            0 => 0.0,
            n => {
                let rank = (percent / 100.0 * n as f64).ceil() as usize;
                ms(sorted[rank.clamp(1, n) - 1])
            }
        };
        let mean = match sorted.len() {
            0 => 0.0,
            n => ms(sorted.iter().sum::<u64>() / n as u64),
        };
        LatencySummary {
            count: self.count(),
            mean,
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: sorted.last().copied().map_or(0.0, ms),
        }
    }
}

/// Latency figures in milliseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Failed calls by kind (a gRPC code name, with the call's name where useful).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct ErrorCounts(BTreeMap<String, u64>);

impl ErrorCounts {
    pub fn add(&mut self, kind: impl Into<String>) {
        *self.0.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: ErrorCounts) {
        for (kind, n) in other.0 {
            *self.0.entry(kind).or_default() += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &u64)> {
        self.0.iter()
    }
}

/// One simulated caller: its own HTTP/2 connection, used by every phase so that they compare
/// the same transport.
#[derive(Clone)]
pub struct Connection {
    pub health: HealthClient<Channel>,
    pub proposals: ProposalServiceClient<Channel>,
}

/// Opens one connection per client. A tonic `Channel` multiplexes every call over a single
/// HTTP/2 connection served by one task on each side; giving each client its own connection
/// models independent callers and keeps one connection's flow control and task from becoming
/// the bottleneck being measured.
pub async fn connect_all(
    url: &str,
    clients: u32,
    timeout: Duration,
    max_message_bytes: usize,
) -> Result<Vec<Connection>, String> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("bad server URL {url}: {e}"))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true);
    let mut connections = Vec::with_capacity(clients as usize);
    for _ in 0..clients {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        connections.push(Connection {
            health: HealthClient::new(channel.clone()),
            proposals: ProposalServiceClient::new(channel)
                .max_decoding_message_size(max_message_bytes),
        });
    }
    Ok(connections)
}

/// Polls health until the proposal service reports SERVING, for at most `timeout`.
pub async fn wait_until_serving(connection: &Connection, timeout: Duration) -> Result<(), String> {
    let give_up = Instant::now() + timeout;
    let mut health = connection.health.clone();
    loop {
        let request = HealthCheckRequest {
            service: SERVICE_NAME.into(),
        };
        let status = health.check(request).await.map(|r| r.into_inner().status);
        if matches!(status, Ok(s) if s == ServingStatus::Serving as i32) {
            return Ok(());
        }
        if Instant::now() > give_up {
            return Err(format!("the server never reported SERVING ({status:?})"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One client of the baseline: Health/Check back to back until `until`.
pub async fn health_client(
    connection: Connection,
    until: Instant,
) -> (LatencyRecorder, ErrorCounts) {
    let mut health = connection.health;
    let mut latencies = LatencyRecorder::default();
    let mut errors = ErrorCounts::default();
    while Instant::now() < until {
        let request = HealthCheckRequest {
            service: SERVICE_NAME.into(),
        };
        let started = Instant::now();
        let result = health.check(request).await;
        let latency = started.elapsed();
        match result.map(|r| r.into_inner().status) {
            Ok(status) if status == ServingStatus::Serving as i32 => latencies.record(latency),
            Ok(_) => errors.add("Health/Check NOT_SERVING"),
            Err(status) => errors.add(format!("Health/Check {}", code_name(status.code()))),
        }
    }
    (latencies, errors)
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}
