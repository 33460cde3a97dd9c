//! `measure`'s write comparison: `proposal-bench`'s workflow load against an empty database and
//! against the loaded one, in alternation.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::args::MeasureArgs;
use crate::loadgen::ratio;

#[derive(Debug, Serialize)]
pub struct BenchRun {
    pub database: &'static str,
    pub transitions_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub baseline_calls_per_sec: f64,
    /// transitions/s ÷ Health/Check calls/s of the same run.
    pub throughput_ratio: f64,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct WriteReport {
    pub clients: u32,
    pub duration_secs: u64,
    pub rounds: Vec<BenchRun>,
    pub empty_transitions_per_sec: f64,
    pub loaded_transitions_per_sec: f64,
    /// loaded ÷ empty transitions/s (the target: ≥ 0.8).
    pub ratio: f64,
    /// The same, each normalised by its own run's Health/Check rate (less sensitive to noise).
    pub normalized_ratio: f64,
}

fn bench_binary(args: &MeasureArgs) -> Result<PathBuf, String> {
    if let Some(path) = &args.bench_bin {
        return Ok(path.clone());
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let sibling = me.with_file_name("proposal-bench");
    if sibling.exists() {
        Ok(sibling)
    } else {
        Err(format!(
            "{} not found: build it (cargo build --release --bins) or pass --bench-bin",
            sibling.display()
        ))
    }
}

fn run_bench(
    bench: &Path,
    data_dir: Option<&Path>,
    args: &MeasureArgs,
) -> Result<BenchRun, String> {
    let mut command = std::process::Command::new(bench);
    command.args([
        "--concurrency",
        &args.write_clients.to_string(),
        "--duration",
        &args.write_duration.to_string(),
        "--warmup",
        &args.write_warmup.to_string(),
        // Only the workflow is compared; the storage floor would lengthen every run.
        "--no-floor",
        "--json",
    ]);
    if let Some(dir) = data_dir {
        command.arg("--data-dir").arg(dir);
    }
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", bench.display()))?;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "proposal-bench gave no report ({}, {e}): {}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    let number = |pointer: &str| {
        report
            .pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    Ok(BenchRun {
        database: if data_dir.is_some() {
            "loaded"
        } else {
            "empty"
        },
        transitions_per_sec: number("/workflow/transitions_per_sec"),
        p50_ms: number("/workflow/latency_ms/all/p50"),
        p99_ms: number("/workflow/latency_ms/all/p99"),
        baseline_calls_per_sec: number("/baseline/calls_per_sec"),
        throughput_ratio: number("/throughput_ratio"),
        ok: report["ok"] == true && output.status.success(),
    })
}

pub fn compare_writes(args: &MeasureArgs) -> Result<WriteReport, String> {
    let bench = bench_binary(args)?;
    let mut rounds = Vec::new();
    for round in 1..=args.write_rounds {
        eprintln!(
            "proposal-scale: writes, round {round}: proposal-bench on an empty database, then on this one"
        );
        rounds.push(run_bench(&bench, None, args)?);
        rounds.push(run_bench(&bench, Some(&args.data_dir), args)?);
    }
    let mean = |database: &str, f: fn(&BenchRun) -> f64| {
        let values: Vec<f64> = rounds
            .iter()
            .filter(|r| r.database == database)
            .map(f)
            .collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let empty = mean("empty", |r| r.transitions_per_sec);
    let loaded = mean("loaded", |r| r.transitions_per_sec);
    Ok(WriteReport {
        clients: args.write_clients,
        duration_secs: args.write_duration,
        empty_transitions_per_sec: empty,
        loaded_transitions_per_sec: loaded,
        ratio: ratio(loaded, empty),
        normalized_ratio: ratio(
            mean("loaded", |r| r.throughput_ratio),
            mean("empty", |r| r.throughput_ratio),
        ),
        rounds,
    })
}
