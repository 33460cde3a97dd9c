//! What the load tools (`proposal-bench`, `proposal-scale`) share: exact latency recording,
//! error counts by gRPC code, one connection per simulated client, the empty-RPC baseline
//! client, and the CPU a phase used. Included by each binary with `#[path]`.

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

// ---------------------------------------------------------------------------------------------
// CPU accounting
// ---------------------------------------------------------------------------------------------

/// Linux reports CPU times in `USER_HZ` clock ticks: 100 per second on x86 and Arm.
const TICKS_PER_SEC: f64 = 100.0;

/// CPU time so far, from Linux's `/proc`: this process's (every thread, user and system) and
/// the machine's (busy and total, every CPU and process). `None` where `/proc` cannot be read.
#[derive(Clone, Copy, Debug)]
pub struct CpuSample {
    process_ticks: Option<u64>,
    machine_ticks: Option<(u64, u64)>,
}

impl CpuSample {
    pub fn now() -> Self {
        Self {
            process_ticks: std::fs::read_to_string("/proc/self/stat")
                .ok()
                .and_then(|stat| process_ticks(&stat)),
            machine_ticks: std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|stat| machine_ticks(&stat)),
        }
    }

    /// What was used from `self` until `later`.
    pub fn until(self, later: CpuSample) -> CpuUse {
        let process_secs = self
            .process_ticks
            .zip(later.process_ticks)
            .map(|(before, after)| after.saturating_sub(before) as f64 / TICKS_PER_SEC);
        let machine_busy = self.machine_ticks.zip(later.machine_ticks).and_then(
            |((busy_before, total_before), (busy_after, total_after))| {
                let total = total_after.saturating_sub(total_before);
                (total > 0).then(|| busy_after.saturating_sub(busy_before) as f64 / total as f64)
            },
        );
        CpuUse {
            process_secs,
            machine_busy,
        }
    }
}

/// `utime + stime` from `/proc/self/stat`. The command name (field 2) may hold spaces, so the
/// fields are counted from the `)` that closes it: utime and stime are the 12th and 13th after.
fn process_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(field(11)? + field(12)?)
}

/// (busy, total) ticks of all CPUs from the `cpu` line of `/proc/stat`: busy is everything but
/// idle and iowait (guest time is already counted in user time, so it is left out of both).
fn machine_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    Some((busy, busy + idle + iowait))
}

/// The CPU one phase of a measurement used.
#[derive(Debug, Serialize)]
pub struct CpuUse {
    /// CPU seconds of this process, every thread: with an in-process server, the server's and
    /// the clients'; against another process, the clients' alone.
    pub process_secs: Option<f64>,
    /// The busy share of the machine's CPU time, 0 to 1, every process counted: below 1, the
    /// phase did not keep every core busy.
    pub machine_busy: Option<f64>,
}

impl CpuUse {
    /// Microseconds of this process's CPU per call, for `calls` calls.
    pub fn us_per_call(&self, calls: u64) -> Option<f64> {
        self.process_secs
            .filter(|_| calls > 0)
            .map(|secs| secs * 1e6 / calls as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ticks_are_counted_after_the_command_name() {
        // A command name with a space and a parenthesis, as a process may call itself.
        let stat = "4242 (bench (1) x) R 1 4242 4242 0 -1 4194304 3000 0 0 0 \
                    725 118 0 0 20 0 9 0 1000 5000000 2000 18446744073709551615";
        assert_eq!(process_ticks(stat), Some(725 + 118));
        assert_eq!(process_ticks("4242 (cut short) R 1"), None);
        assert_eq!(process_ticks("no parenthesis"), None);
    }

    #[test]
    fn machine_ticks_leave_out_idle_and_iowait() {
        let stat = "cpu  100 5 30 800 40 3 2 10 7 0\ncpu0 50 2 15 400 20 1 1 5 3 0\nintr 1\n";
        // busy: user 100 + nice 5 + system 30 + irq 3 + softirq 2 + steal 10 = 150.
        assert_eq!(machine_ticks(stat), Some((150, 150 + 800 + 40)));
        assert_eq!(machine_ticks("cpu  1 2 3\n"), None);
        assert_eq!(machine_ticks("intr 1\n"), None);
    }

    #[test]
    fn cpu_use_is_the_difference_between_two_samples() {
        let before = CpuSample {
            process_ticks: Some(1_000),
            machine_ticks: Some((5_000, 10_000)),
        };
        let after = CpuSample {
            process_ticks: Some(1_250),
            machine_ticks: Some((5_300, 10_400)),
        };
        let used = before.until(after);
        assert_eq!(used.process_secs, Some(2.5));
        assert_eq!(used.machine_busy, Some(0.75));
        assert_eq!(used.us_per_call(1_000), Some(2_500.0));
        assert_eq!(used.us_per_call(0), None);
        let unknown = CpuSample {
            process_ticks: None,
            machine_ticks: None,
        };
        assert_eq!(unknown.until(after).process_secs, None);
        assert_eq!(unknown.until(after).machine_busy, None);
    }
}
