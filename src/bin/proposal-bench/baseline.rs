//! Phase 1, the baseline: Health/Check back to back, the cost of the transport, HTTP/2 and
//! tonic alone. The floor runs the same calls against its own server.

use std::time::Duration;

use serde::Serialize;

use crate::clients::run_clients;
use crate::loadgen::{
    Connection, CpuSample, CpuUse, ErrorCounts, LatencyRecorder, LatencySummary, health_client,
};

/// What a phase of Health/Check calls measured (the baseline, and the floor against its own
/// server).
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Successful Health/Check calls.
    pub calls: u64,
    pub elapsed_secs: f64,
    pub calls_per_sec: f64,
    pub latency_ms: LatencySummary,
    pub errors: ErrorCounts,
    pub cpu: CpuUse,
    /// `cpu.process_secs` per call, in microseconds.
    pub cpu_us_per_call: Option<f64>,
}

/// Every client calls Health/Check on its connection back to back for `duration`.
pub async fn checks(connections: &[Connection], duration: Duration) -> CheckReport {
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
