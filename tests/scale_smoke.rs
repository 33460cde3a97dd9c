mod common;

// Keeps `proposal-scale` working: loads 200 proposals into a temporary directory (verifying the
// store afterwards), then measures it briefly, and checks that both JSON reports have every
// figure and no error. No performance thresholds: CI machines vary too much for those to mean
// anything.

use std::path::Path;

use common::report::{assert_latency, positive, run_report};
use serde_json::Value;

#[test]
fn the_scale_run_reports_every_figure_and_no_errors() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    load(&data);

    let report = run_scale(&[
        "measure",
        "--data-dir",
        data.to_str().unwrap(),
        "--cache-mb",
        "16",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--baseline-duration",
        "1",
        "--clients",
        "2",
        "--sample",
        "50",
        "--write-duration",
        "1",
        "--write-warmup",
        "0",
        "--write-clients",
        "4",
        "--min-free-gb",
        "0",
        "--bench-bin",
        env!("CARGO_BIN_EXE_proposal-bench"),
    ]);

    assert_eq!(report["loaded"]["proposals_full"], 200);
    assert_eq!(report["memory"]["cache_mb"], 16);
    positive(&report, "/open/store_secs");
    positive(&report, "/open/total_secs");
    for field in [
        "rss_before_open_bytes",
        "rss_after_open_bytes",
        "rss_peak_under_reads_bytes",
        "rss_after_reads_bytes",
        "rss_high_water_bytes",
    ] {
        positive(&report, &format!("/memory/{field}"));
    }
    for field in [
        "allocated_bytes",
        "apparent_bytes",
        "raw_event_bytes",
        "events",
        "ratio",
    ] {
        positive(&report, &format!("/disk/{field}"));
    }
    assert_eq!(report["sample"]["ids"], 50);

    assert_latency(&report, "/reads/baseline/latency_ms");
    assert_cpu(&report, "/reads/baseline");
    for call in [
        "GetProposal",
        "GetProposalHistory",
        "ListProposals state=COPIED",
        "ListProposals rare state",
        "ListProposals unit",
        "ListEvents from a random time",
    ] {
        let pointer = format!("/reads/calls/{call}");
        assert_latency(&report, &format!("{pointer}/latency_ms"));
        positive(&report, &format!("{pointer}/calls_per_sec"));
        positive(&report, &format!("{pointer}/items_per_call"));
        assert_cpu(&report, &pointer);
    }
    let errors = report["reads"]["errors"].as_object().expect("an error map");
    assert!(errors.is_empty(), "read errors: {errors:?}");

    let rounds = report["writes"]["rounds"].as_array().expect("write rounds");
    assert_eq!(
        rounds.len(),
        2,
        "one run on an empty database, one on this one"
    );
    for run in rounds {
        assert_eq!(run["ok"], true, "{run:#}");
        positive(run, "/transitions_per_sec");
        positive(run, "/baseline_calls_per_sec");
    }
    positive(&report, "/writes/ratio");
    positive(&report, "/writes/normalized_ratio");
    assert_eq!(report["ok"], true);
}

/// Runs `proposal-scale` with `args` and returns its parsed JSON report.
fn run_scale(args: &[&str]) -> Value {
    run_report(env!("CARGO_BIN_EXE_proposal-scale"), args)
}

/// The CPU accounting of one read phase (read from /proc: this test runs on Linux): the process
/// used some CPU per call, and the machine was busy part of the time.
fn assert_cpu(report: &Value, pointer: &str) {
    positive(report, &format!("{pointer}/cpu_us_per_call"));
    let busy = positive(report, &format!("{pointer}/machine_busy"));
    assert!(busy <= 1.0, "{pointer}: machine busy {busy}");
}

/// Loads 200 proposals (and 10 partial ones) into `dir`, verifying the store; checks the load's
/// report and returns it.
fn load(dir: &Path) -> Value {
    let report = run_scale(&[
        "load",
        "--data-dir",
        dir.to_str().unwrap(),
        "--proposals",
        "200",
        "--partial",
        "10",
        "--batch",
        "60",
        "--min-free-gb",
        "0",
        "--verify",
    ]);
    assert_eq!(report["manifest"]["proposals_full"], 200);
    assert_eq!(report["manifest"]["proposals_partial"], 10);
    assert!(report["manifest"]["stopped_early"].is_null());
    let events = positive(&report, "/manifest/events");
    // 200 full lifecycles of 6 events, and 10 partial ones of 1 to 5.
    assert!((1210.0..=1250.0).contains(&events), "{events} events");
    for pointer in [
        "/manifest/raw_event_bytes",
        "/manifest/last_position",
        "/manifest/load_secs",
        "/commits",
        "/events_per_sec",
        "/proposals_per_sec",
        "/commit_p50_ms",
        "/commit_p99_ms",
        "/disk_bytes",
        "/disk_apparent_bytes",
        "/disk_ratio",
        "/peak_rss_bytes",
    ] {
        positive(&report, pointer);
    }
    assert_eq!(report["verify"]["events"].as_f64(), Some(events));
    assert_eq!(report["verify"]["proposals"], 210);
    assert_eq!(
        report["verify"]["problems"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        report["verify"]
    );
    report
}
