//! What a run measured, and how it is printed: the table, or one JSON object with `--json`.

use std::path::PathBuf;

use serde::Serialize;

use crate::baseline::CheckReport;
use crate::floor::FloorReport;
use crate::loadgen::{ErrorCounts, LatencySummary};
use crate::output;
use crate::workflow::{Step, WorkflowReport};

/// Everything one run measured; `--json` prints it as one object (fields in the crate doc, `main.rs`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub target: &'static str,
    pub url: String,
    pub data_dir: Option<PathBuf>,
    pub concurrency: u32,
    /// HTTP/2 connections opened: one per client.
    pub connections: usize,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub reply_body_bytes: usize,
    pub baseline: CheckReport,
    /// Null when measuring an external server (`--server`).
    pub floor: Option<FloorReport>,
    pub workflow: WorkflowReport,
    pub warmup_errors: ErrorCounts,
    pub throughput_ratio: f64,
    pub p50_latency_ratio: f64,
    /// `floor.calls_per_sec / baseline.calls_per_sec`: the throughput ratio that a durable
    /// sled insert alone reaches.
    pub floor_throughput_ratio: Option<f64>,
    /// `floor.latency_ms.p50 / baseline.latency_ms.p50`.
    pub floor_p50_latency_ratio: Option<f64>,
    /// `workflow.transitions_per_sec / floor.calls_per_sec`.
    pub workflow_to_floor_ratio: Option<f64>,
    /// `workflow.cpu_us_per_transition / baseline.cpu_us_per_call`.
    pub cpu_ratio: Option<f64>,
    pub ok: bool,
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

/// Prints the report on stdout: the table, or one JSON object with `json`.
pub fn print_report(report: &Report, json: bool) {
    output::print(report, json, render_table);
}
